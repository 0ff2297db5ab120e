"""The experiments context: deterministic, GrowthBook-compatible assignment of units to A/B test variants."""
