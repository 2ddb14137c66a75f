from tempodesk.cli import main

main()
