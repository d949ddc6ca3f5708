"""One module per channel, each behind `publishers.base.Publisher`; they never import each other."""
