"""Database backends of this project (selected by `settings._database()`)."""
