"""Small helpers every layer of the package may use: progress meters and run logging."""
