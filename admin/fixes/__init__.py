"""Apply a verdict's fix (diagnostics/verdicts/actions.py) to the Space, on the owner's word: Space variables,
requirements.txt as a pull request (or a confirmed commit), hardware, restart; and whether it worked."""
