"""What runs the app in production: the gunicorn configuration and the container entrypoint."""
