"""The function's image without Docker: /python holds only what the function can import, /function its code."""
