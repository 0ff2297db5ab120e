"""CRM, order and campaign imports: streaming parse, column mapping, row
validation, quarantine, per-profile aggregation and the import report.

Pure logic: no boto3, no Powertools. `consumers.py` feeds it an S3 stream and
writes what it returns through `store.py`.
"""
