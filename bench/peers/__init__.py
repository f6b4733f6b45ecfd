"""The peers the bench compares with: what a user would otherwise run, written to follow the peer's own code
path (its connections, round trips and queries) rather than as a strawman."""
