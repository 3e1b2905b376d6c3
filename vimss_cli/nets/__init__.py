"""The model family: configs, the U-Net and the Wave-U-Net, their conditioning, checkpoints."""
