"""sail-bench: reproduce and extend SAIL (Self-Amplified Iterative Learning) for diffusion alignment."""

__version__ = "0.1.0"
