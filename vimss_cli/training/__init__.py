"""`vimss train`: the data sets, losses, training step, validation, saved state and the loop."""
