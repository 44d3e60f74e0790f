"""One thin module per trigger: the HTTP edge of each function, no business logic."""
