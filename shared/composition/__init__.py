"""Building services from a function's settings: where adapters meet the domain.

One module per concern, so that each function imports only what it uses: the Stripe SDK only where
Stripe is called (registration, payments, admin), the PDF library only where certificates are rendered
(reactions). `make bench` checks this. Handlers call these once per container, never per request.
"""
