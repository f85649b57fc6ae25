"""Infrastructure shared by every study: argument checks, statistics, result files, type aliases."""
