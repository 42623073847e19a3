"""The review gate: pure functions over a review record. No I/O, nothing else of ours."""
