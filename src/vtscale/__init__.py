"""vtscale: scaling of a fused vision-language model with the number of vision tokens."""

__version__ = "0.1.0"
