"""A Pusher for TF Serving directories kept as a release history."""
