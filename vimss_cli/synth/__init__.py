"""`vimss synth`: scores rendered into training and test data, played and recorded like real players."""
