"""The ticket: its workflow, messages, action registry, rules and projection."""
