"""Loopback stand-ins for the outside platforms, speaking their documented APIs, with fault
knobs: what tests, benches and `sanshen simulate` drive the channel adapters against."""
