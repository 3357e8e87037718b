"""A Pusher executor for TF Serving directories whose versions only grow."""
