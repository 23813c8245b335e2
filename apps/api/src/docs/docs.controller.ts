import { Controller, Get, Header } from '@nestjs/common';
import { openApiDocument, type OpenApiDocument } from './openapi.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse admin API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/client/v4/openapi.json', dom_id: '#swagger-ui', persistAuthorization: false });`;

/** The OpenAPI document and a docs page (Swagger UI, served from the swagger-ui-dist package). */
@Controller()
export class DocsController {
  @Get('client/v4/openapi.json')
  openapi(): OpenApiDocument {
    return openApiDocument();
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  page() {
    return PAGE;
  }

  @Get('docs/init.js')
  @Header('content-type', 'application/javascript; charset=utf-8')
  init() {
    return INIT;
  }
}
