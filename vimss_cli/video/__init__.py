"""Video: frames, player detection and tracking, and the players' features for the visual models."""
