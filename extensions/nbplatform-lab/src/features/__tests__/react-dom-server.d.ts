// react-dom comes with JupyterLab; its types are not installed, and the tests
// need only this.
declare module 'react-dom/server' {
  import type { ReactElement } from 'react';
  export function renderToStaticMarkup(element: ReactElement): string;
}
