"""What the session says about its runs: records, the terminal summary, the reports."""
