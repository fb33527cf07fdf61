"""Signed content updates on the terminal: fetch with TUF, stage, switch atomically, roll back."""
