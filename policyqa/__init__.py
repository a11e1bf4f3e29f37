"""policyqa: the one-stop policy consultation window of a municipal finance bureau."""

__version__ = "0.1.0"
