"""What the app serves over HTTP: the unsubscribe endpoint."""
