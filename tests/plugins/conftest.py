from plugin_samples import sample_dist

__all__ = ["sample_dist"]
