"""The list service over HTTP (``newsletter serve``): sign-up, confirm, preferences,
unsubscribe, the SNS endpoint and the archive. Starlette is imported only by ``app``."""
