"""Services: load rows, call the pure core, save results, commit."""
