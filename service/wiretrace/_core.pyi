# Types of the compiled core (core/binding), built into wiretrace._core by maturin.
__version__: str
