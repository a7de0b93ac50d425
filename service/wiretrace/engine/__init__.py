"""The detection engine, no transport. One module per pipeline stage:
normalize -> tokenize -> terms -> units -> signature -> index -> align -> detect.
The per-character and per-token stages (normalize to units, quotes) run in the
compiled core, ``wiretrace._core`` (``core/engine/src/text``)."""
