"""The corpus of the live-page verification bench (bench/verify.py): signed articles, and
the platform pages made of them, benign or altered."""
