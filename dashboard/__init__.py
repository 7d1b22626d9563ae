"""The Dash dashboard over scenarios and stored runs (built in its own issue; nothing here yet)."""
