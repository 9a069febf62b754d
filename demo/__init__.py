"""Development tool beside the product: the sandbox marketplace/3PL simulator, the demo
data and the commands that serve and seed them. It may use any app; no app imports it."""
