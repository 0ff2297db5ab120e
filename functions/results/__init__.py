"""The results context: exposures and conversions turned into decisions a marketer can trust."""
