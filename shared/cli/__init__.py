"""The ``tdkt`` command line for unit clerks, council members and operators, and its helpers.

May import: shared.contract, shared.law, shared.platform (its client side: settings, the RPC client, dead
letters, health) and shared.devtools; never services/. Nothing outside tests imports it.
"""
