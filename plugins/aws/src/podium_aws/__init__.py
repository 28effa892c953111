"""podium-aws: the AWS plugin for Podium.

Importing this package is cheap: boto3 loads only when an AWS registration is used.
"""

__version__ = "0.1.0"
DISTRIBUTION = "podium-aws"
