"""The controller's REST API as Python: the client, its models and errors, the secret key.

No pytest import here, nor below: a script or another test runner can use it as it is.
"""
