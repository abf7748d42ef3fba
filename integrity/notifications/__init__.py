"""E-mail that tells staff there is something to look at, without saying what."""
