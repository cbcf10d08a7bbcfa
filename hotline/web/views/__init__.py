"""The staff console's pages. Views are thin: parse, authorize, call one query or action, render."""
