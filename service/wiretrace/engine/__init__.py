"""The detection engine: plain Python, no transport. One module per pipeline stage:
normalize -> tokenize -> terms -> units -> signature -> index -> align -> detect."""
