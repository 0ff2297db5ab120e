"""AWS adapters: the only modules of Persona that import boto3.

Clients are created lazily and cached per process (one per container in
Lambda). Endpoints follow botocore's own configuration, so `AWS_ENDPOINT_URL`
points every adapter at the local runtime's moto server.
"""
