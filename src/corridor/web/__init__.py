"""`corridor serve`: a local web workbench over the library (FastAPI app, background jobs, run registry).

The pages edit a scenario through controls generated from the parameter schema,
run it (a quick single run, a posterior ensemble or a paired comparison) in
worker processes, and show the results with their intervals and their evidence.
Every answer comes from the same library functions as the command line; this
package only wires them to HTTP. ``corridor.web.app.create_app`` builds the app.
"""
