"""Development tools that span the suite: tracking suite and benchmark, mesh-network training and evaluation."""
