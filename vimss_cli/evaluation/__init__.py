"""`vimss evaluate`: the URMP layout, scoring of models and oracles, and the tone test set."""
