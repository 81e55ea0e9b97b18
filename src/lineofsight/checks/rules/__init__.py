"""The alignment rules of SPEC section 4, one module each."""
