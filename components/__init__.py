"""Custom TFX components and the module files run by Transform and Trainer."""
