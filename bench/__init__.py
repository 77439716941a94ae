"""`make bench`: cold start, warm invocations, memory and install size, each next to its floor."""
