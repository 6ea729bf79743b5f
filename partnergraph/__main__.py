from partnergraph.cli import main

main()
