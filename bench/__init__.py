"""`make bench`: image size, cold start, warm invocations and memory: the image layout next to the plain install."""
